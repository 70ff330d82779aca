// The figures a run produces: training curves, first-layer kernels (figure 3), predictions and
// nearest neighbours (figure 4), all written as PNG.
export { plotCurves, type CurveSeries, type CurveLine, type CurveOptions } from './curves.js';
export { kernelGrid } from './kernels.js';
export type { KernelGridOptions, KernelCell } from '../../pictures/kernel_grid.js';
export { predictionFigure, type Prediction, type PredictionOptions } from './predictions.js';
export { neighborsFigure, type NeighborRow, type NeighborOptions } from './neighbors.js';
export type { Img } from './image.js';
export { esc as escapeSvgText } from './svg.js';
