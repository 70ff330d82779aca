// A static file server on 127.0.0.1 for the demo (npm run demo) and the browser tests:
//   node scripts/serve.mjs DIR [--port N]    (default 8080; 0 picks a free port)
// Prints "serving DIR at http://127.0.0.1:PORT/" once listening. Files only, nothing outside DIR.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';

const args = process.argv.slice(2);
const root = resolve(args.find((a) => !a.startsWith('--')) ?? 'build/demo');
const at = args.indexOf('--port');
const port = at >= 0 ? Number(args[at + 1]) : Number(process.env.PORT ?? 8080);
// .gz files are data the page unpacks itself: served as they are, with no Content-Encoding
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.gz': 'application/gzip',
  '.safetensors': 'application/octet-stream',
};

const server = createServer(async (req, res) => {
  try {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    let file = join(root, path);
    if (file !== root && !file.startsWith(root + sep))
      throw Object.assign(new Error('outside the root'), { status: 403 });
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(body);
  } catch (e) {
    const status = e.status ?? (e.code === 'ENOENT' || e.code === 'ENOTDIR' ? 404 : 500);
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(`${status}\n`);
  }
});
server.listen(port, '127.0.0.1', () => console.log(`serving ${root} at http://127.0.0.1:${server.address().port}/`));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
