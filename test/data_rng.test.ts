// Tests for the seedable PRNG: determinism, ranges, distribution moments, checkpoint/restore, shuffle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, hashSeed, shuffle } from '../src/util/rng.js';
import { AlexnetError } from '../src/errors.js';

test('same seed gives the same sequence, different seeds differ', () => {
  const a = new Rng(42),
    b = new Rng(42),
    c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.u32());
  assert.equal(
    Array.from({ length: 20 }, () => b.u32()),
    sa,
  );
  assert.not.equal(
    Array.from({ length: 20 }, () => c.u32()),
    sa,
  );
});

test('next, int and normal stay in range with sane moments', () => {
  const r = new Rng(1);
  const counts = new Array(7).fill(0);
  let sum = 0,
    sq = 0;
  for (let i = 0; i < 20000; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    const k = r.int(7);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    counts[k]++;
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  for (const n of counts) assert.ok(Math.abs(n - 20000 / 7) < 250, `int(7) bucket ${n}`);
  assert.ok(Math.abs(sum / 20000) < 0.03, `normal mean ${sum / 20000}`);
  assert.ok(Math.abs(sq / 20000 - 1) < 0.05, `normal var ${sq / 20000}`);
  assert.throws(
    () => r.int(0),
    (e: unknown) => e instanceof AlexnetError,
  );
});

test('state/restore resumes the exact sequence', () => {
  const r = new Rng(7);
  for (let i = 0; i < 5; i++) r.normal();
  const s = r.state();
  const want = [r.next(), r.int(1000), r.normal()];
  const q = new Rng(0).restore(JSON.parse(JSON.stringify(s)));
  assert.equal([q.next(), q.int(1000), q.normal()], want);
  assert.throws(
    () => q.restore([0, 0, 0, 0]),
    (e: unknown) => e instanceof AlexnetError,
  );
  assert.throws(
    () => q.restore([1, 2, 3]),
    (e: unknown) => e instanceof AlexnetError,
  );
});

test('hashSeed is order sensitive and accepts large keys', () => {
  assert.is.not(hashSeed(1, 2), hashSeed(2, 1));
  assert.is.not(hashSeed(2 ** 40), hashSeed(0));
  assert.is(Rng.from(5, 1, 2).u32(), Rng.from(5, 1, 2).u32());
});

test('shuffle is a deterministic permutation', () => {
  const a = shuffle(
    Int32Array.from({ length: 100 }, (_, i) => i),
    new Rng(3),
  );
  const b = shuffle(
    Int32Array.from({ length: 100 }, (_, i) => i),
    new Rng(3),
  );
  assert.equal(Array.from(a), Array.from(b));
  assert.equal(
    Array.from(a).sort((x, y) => x - y),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.not.equal(
    Array.from(a),
    Array.from({ length: 100 }, (_, i) => i),
  );
});

test.run();
