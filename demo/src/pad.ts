// The drawing pad: white strokes on black, as Fashion-MNIST's images are; test images and dropped
// files painted onto it; and its contents as the 28×28 gray pixels the net takes.
export class Pad {
  private ctx: CanvasRenderingContext2D;
  private drawing = false;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private onChange: () => void,
  ) {
    this.ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener('pointerdown', (e) => {
      this.drawing = true;
      canvas.setPointerCapture(e.pointerId);
      this.stroke(e, true);
    });
    canvas.addEventListener('pointermove', (e) => {
      if (this.drawing) this.stroke(e, false);
    });
    canvas.addEventListener('pointerup', () => {
      this.drawing = false;
      this.onChange();
    });
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  private stroke(e: PointerEvent, start: boolean): void {
    const r = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - r.left) * this.canvas.width) / r.width,
      y = ((e.clientY - r.top) * this.canvas.height) / r.height;
    const c = this.ctx;
    c.strokeStyle = '#fff';
    c.lineWidth = 22;
    c.lineCap = 'round';
    c.lineJoin = 'round';
    if (start) {
      c.beginPath();
      c.moveTo(x, y);
    }
    c.lineTo(x, y);
    c.stroke();
  }

  /** Paint 28×28 gray pixels, enlarged without smoothing. */
  showPixels(pixels: Uint8Array, side = 28): void {
    this.ctx.imageSmoothingEnabled = false;
    this.ctx.drawImage(grayCanvas(pixels, side), 0, 0, this.canvas.width, this.canvas.height);
    this.onChange();
  }

  /** Paint an image file: fitted, gray, inverted when its background is light (so the object is bright). */
  async showFile(file: Blob): Promise<void> {
    const img = await createImageBitmap(file);
    const s = 28,
      c = new OffscreenCanvas(s, s).getContext('2d', { willReadFrequently: true })!;
    const k = Math.min(s / img.width, s / img.height),
      w = img.width * k,
      h = img.height * k;
    c.fillStyle = '#fff';
    c.fillRect(0, 0, s, s);
    c.drawImage(img, (s - w) / 2, (s - h) / 2, w, h);
    const rgba = c.getImageData(0, 0, s, s).data,
      gray = new Uint8Array(s * s);
    for (let i = 0; i < s * s; i++)
      gray[i] = Math.round(0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2]);
    let border = 0;
    for (let i = 0; i < s; i++) border += gray[i] + gray[(s - 1) * s + i] + gray[i * s] + gray[i * s + s - 1];
    if (border / (4 * s) > 127) for (let i = 0; i < gray.length; i++) gray[i] = 255 - gray[i];
    this.showPixels(gray, s);
  }

  /** What is on the pad as side×side gray pixels (area-averaged). */
  pixels(side = 28): Uint8Array {
    const c = new OffscreenCanvas(side, side).getContext('2d', { willReadFrequently: true })!;
    c.imageSmoothingEnabled = true;
    c.imageSmoothingQuality = 'high';
    c.drawImage(this.canvas, 0, 0, side, side);
    const rgba = c.getImageData(0, 0, side, side).data,
      out = new Uint8Array(side * side);
    for (let i = 0; i < out.length; i++) out[i] = rgba[4 * i];
    return out;
  }
}

/** A side×side canvas showing gray pixels. */
export function grayCanvas(pixels: Uint8Array, side: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = c.height = side;
  const img = new ImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = pixels[i];
    img.data[4 * i + 3] = 255;
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}
