// Network coordinates: the round trip two Vivaldi coordinates predict,
// computed as the coordinate package's DistanceTo does, and a projection
// of the members onto the plane for the Network page.

/**
 * rttMs is the round trip, in milliseconds, that coordinates a and b
 * predict: the Euclidean distance of the vectors plus both heights, then
 * both adjustments unless that would make it zero or less. null when
 * either is missing or their dimensions differ.
 */
export function rttMs(a, b) {
  if (!a || !b || !a.Vec || !b.Vec || a.Vec.length !== b.Vec.length) return null;
  let sum = 0;
  for (let i = 0; i < a.Vec.length; i++) {
    const d = a.Vec[i] - b.Vec[i];
    sum += d * d;
  }
  let dist = Math.sqrt(sum) + a.Height + b.Height;
  const adjusted = dist + a.Adjustment + b.Adjustment;
  if (adjusted > 0) dist = adjusted;
  return dist * 1000;
}

/** matrix is the predicted round trip of every pair of coords, in ms. */
export function matrix(coords) {
  return coords.map((a) => coords.map((b) => (a === b ? 0 : rttMs(a, b) ?? 0)));
}

/**
 * project places n points in 2-D so that their distances approximate the
 * matrix d: classical multidimensional scaling. The squared distances are
 * double-centred into a Gram matrix, whose two largest eigenvectors
 * (found by power iteration with deflation), scaled by the square roots
 * of their eigenvalues, are the x and y of each point.
 */
export function project(d) {
  const n = d.length;
  if (n === 0) return [];
  if (n === 1) return [[0, 0]];
  const sq = d.map((row) => row.map((v) => v * v));
  const rowMean = sq.map((row) => row.reduce((s, v) => s + v, 0) / n);
  const all = rowMean.reduce((s, v) => s + v, 0) / n;
  const b = sq.map((row, i) => row.map((v, j) => -0.5 * (v - rowMean[i] - rowMean[j] + all)));
  const axes = [];
  for (let k = 0; k < 2; k++) {
    const { vec, val } = topEigen(b);
    axes.push(vec.map((x) => x * Math.sqrt(Math.max(val, 0))));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i][j] -= val * vec[i] * vec[j];
  }
  return axes[0].map((x, i) => [x, axes[1][i]]);
}

// topEigen finds the largest eigenvalue of the symmetric matrix m and
// its unit eigenvector by power iteration, from a fixed start so that
// the map does not flip between refreshes.
function topEigen(m) {
  const n = m.length;
  let v = Array.from({ length: n }, (_, i) => 1 + i / n);
  const len = Math.hypot(...v);
  v = v.map((x) => x / len);
  let val = 0;
  for (let iter = 0; iter < 200; iter++) {
    const w = m.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
    const norm = Math.hypot(...w);
    if (norm < 1e-12) return { vec: v.map(() => 0), val: 0 };
    // v is a unit vector, so v·Mv is the Rayleigh quotient.
    val = v.reduce((s, x, i) => s + x * w[i], 0);
    const next = w.map((x) => x / norm);
    const delta = Math.hypot(...next.map((x, i) => x - v[i]));
    v = next;
    if (delta < 1e-9) break;
  }
  return { vec: v, val };
}
