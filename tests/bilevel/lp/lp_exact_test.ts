// The LP text carries every float64 exactly: the writer's numbers parse back bit for bit, HiGHS's LP reader
// holds them unchanged in its finite range, and a solved LP with coefficients near 1e-10 matches an
// independent float64 solution (vertex enumeration).
import highsLoader from "highs";
import { assert, assertEquals, assertMatch, assertThrows } from "../../assert.ts";
import { Rng } from "../../../data/rng.ts";
import {
  buildLp,
  buildLpText,
  type DirectionLp,
  formatLpNumber,
  HIGHS_LIMITS,
  HIGHS_SETTINGS,
  type HighsModel,
  highsModelData,
  LpCoefficientError,
  scaleLp,
  solveDirectionLp,
} from "../../../bilevel/lp/lp.ts";

const highs = await (highsLoader as unknown as () => Promise<{ createModel(): HighsModel }>)();

/** Reads LP text into a HiGHS model (small_matrix_value at its minimum, as solveDirectionLp sets it). */
function withRead<T>(text: string, f: (model: HighsModel, names: string[]) => T): T {
  const model = highs.createModel();
  try {
    model.options.set({ output_flag: false, small_matrix_value: HIGHS_LIMITS.smallMatrix });
    model.readModel({ format: "lp", data: text });
    const names = Array.from({ length: model.getDimensions().numCols }, (_, i) => model.getColName(i));
    return f(model, names);
  } finally {
    model.dispose();
  }
}

const bits = new DataView(new ArrayBuffer(8));
/** A double from 64 random bits, redrawn while NaN or ±∞. */
function randomBitsDouble(rng: Rng): number {
  for (;;) {
    bits.setUint32(0, rng.nextU32());
    bits.setUint32(4, rng.nextU32());
    const x = bits.getFloat64(0);
    if (Number.isFinite(x)) return x;
  }
}
/** A double with a random sign and mantissa and a binary exponent uniform in [lo, hi] (subnormal below -1022). */
function randomDoubleIn(rng: Rng, lo: number, hi: number): number {
  const e = lo + rng.int(hi - lo + 1);
  const mant = 1 + rng.nextU32() / 2 ** 32 + rng.nextU32() / 2 ** 64;
  const x = e < -1022 ? (mant * 2 ** -1022) * 2 ** (e + 1022) : mant * 2 ** e;
  return rng.int(2) ? -x : x;
}
const SPECIAL = [
  0,
  -0,
  5e-324,
  -5e-324,
  2.225073858507201e-308, // largest subnormal
  2.2250738585072014e-308, // smallest normal
  1.7976931348623157e308,
  -1.7976931348623157e308,
  1e21,
  1.5e21,
  1e20,
  99999999999999980000, // largest double below 1e20
  1e-7,
  1e-10,
  1.2345678901234568e-10, // the example: the old writer wrote ...e-1
  3e-20,
  1e-30,
  1e30,
  0.1,
  1 / 3,
  123456789.123,
];

const N_BITS = 200_000, N_RANGE = 200_000;

Deno.test(`writer: ${N_BITS + N_RANGE + SPECIAL.length} doubles (random bits, whole exponent range, specials) parse back bit for bit`, () => {
  const rng = new Rng(14);
  const xs = [...SPECIAL];
  for (let i = 0; i < N_BITS; i++) xs.push(randomBitsDouble(rng));
  for (let i = 0; i < N_RANGE; i++) xs.push(randomDoubleIn(rng, -1074, 1023));
  let subnormals = 0, huge = 0;
  for (const x of xs) {
    const t = formatLpNumber(x);
    // only the characters of a CPLEX LP number: sign, digits, point, exponent
    assert(/^-?\d+(\.\d+)?(e[+-]\d+)?$/.test(t), `unexpected syntax ${t}`);
    assert(Object.is(Number(t), x), `${x} written as ${t} reads back as ${Number(t)}`);
    if (x !== 0 && Math.abs(x) < 2.2250738585072014e-308) subnormals++;
    if (Math.abs(x) >= 1e20) huge++;
  }
  assert(subnormals > 100 && huge > 100_000, `coverage: ${subnormals} subnormals, ${huge} ≥ 1e20`);
  // the old writer's bug: exponent digits ending in 0
  assertEquals(formatLpNumber(1.2345678901234568e-10), "1.2345678901234568e-10");
  assertEquals(formatLpNumber(-0), "-0");
  assertEquals(formatLpNumber(1e21), "1e+21");
});

Deno.test("HiGHS's reader keeps costs and bounds exactly below 1e20 and makes them infinite from 1e20 (20,000 doubles)", () => {
  const rng = new Rng(15);
  const xs = [...SPECIAL];
  // half across HiGHS's finite range (binary exponents -1074..66, i.e. up to ~1.5e20), half random bits
  for (let i = 0; i < 10_000; i++) xs.push(randomDoubleIn(rng, -1074, 66));
  for (let i = 0; i < 10_000; i++) xs.push(randomBitsDouble(rng));
  const lines = [
    "Minimize",
    " obj: " + xs.map((x, i) => `${x < 0 || Object.is(x, -0) ? "-" : "+"} ${formatLpNumber(Math.abs(x))} x${i}`).join(" "),
  ];
  lines.push("Subject To", " c0: + 1 x0 + 1 x1 >= -1", "Bounds");
  // bounds -|x| ≤ x_i ≤ |x| (a lower bound of +1e20 or more would be +∞, which HiGHS refuses)
  xs.forEach((x, i) => lines.push(` ${formatLpNumber(-Math.abs(x))} <= x${i} <= ${formatLpNumber(Math.abs(x))}`));
  lines.push("End");
  const { exact, infinite } = withRead(lines.join("\n") + "\n", (model, names) => {
    const lp = model.getLp("csr");
    let exact = 0, infinite = 0;
    names.forEach((name, col) => {
      const x = xs[Number(name.slice(1))];
      const big = Math.abs(x) >= HIGHS_LIMITS.infinite;
      for (
        const [got, want, what] of [[lp.colCost[col], x, "cost"], [lp.colLower[col], -Math.abs(x), "lower"], [
          lp.colUpper[col],
          Math.abs(x),
          "upper",
        ]] as const
      ) {
        if (big) {
          assertEquals(got, want > 0 ? Infinity : -Infinity, `${what} ${want}`);
          infinite++;
        } else {
          // ±0 compare equal: HiGHS need not keep the sign of zero
          assert(got === want, `${what}: wrote ${formatLpNumber(want)}, HiGHS holds ${got}`);
          exact++;
        }
      }
    });
    return { exact, infinite };
  });
  assert(exact > 30_000 && infinite > 10_000, `${exact} exact, ${infinite} infinite`);
});

Deno.test("HiGHS returns a bound as the solution exactly: min Σx_i, x_i ≥ v_i gives x_i = v_i (2,000 doubles in its finite range)", () => {
  const rng = new Rng(16);
  const xs = Array.from({ length: 2_000 }, () => randomDoubleIn(rng, -1074, 60));
  xs.push(...SPECIAL.filter((x) => Math.abs(x) < 1e19));
  const text = ["Minimize", " obj: " + xs.map((_, i) => `+ 1 x${i}`).join(" "), "Subject To", " c0: + 1 x0 >= -1e19", "Bounds"]
    .concat(xs.map((x, i) => ` ${formatLpNumber(x)} <= x${i} <= 1e19`), ["End"]).join("\n") + "\n";
  withRead(text, (model, names) => {
    model.run();
    const v = model.getSolution().colValue;
    names.forEach((name, col) => {
      const x = xs[Number(name.slice(1))];
      assert(v[col] === x, `x${name} = ${v[col]}, bound ${x}`);
    });
  });
});

/** LP (11) with rows of wildly different scales (1e-25 .. 1e300), entries spread over 1e-14 .. 1 of their row's scale. */
function wildLp(): DirectionLp {
  const rng = new Rng(17);
  const m = 40, n = 2;
  const rowMag = Array.from({ length: m }, () => 10 ** rng.uniform(-25, 300));
  const hWW = Float64Array.from(
    { length: m * m },
    (_, q) => (rng.int(5) ? rowMag[Math.floor(q / m)] * 10 ** rng.uniform(-14, 0) * (rng.int(2) ? 1 : -1) : 0),
  );
  const hWL = Float64Array.from({ length: m * n }, (_, q) => rowMag[Math.floor(q / n)] * rng.normal());
  return {
    gradF: Float64Array.from({ length: m }, () => 10 ** rng.uniform(-15, 5) * rng.normal()),
    gradLambdaF: Float64Array.of(0, 1e-9),
    hWL,
    hWW,
    lambdas: [0.1, 0],
    epsilon: 1e-3,
    delta: 0.5,
  };
}

Deno.test("buildLp: matrix coefficients reach HiGHS exactly up to each row's power-of-two scale; only < 1e-12 of a row's largest is dropped", () => {
  const p = wildLp();
  const { hWW, hWL } = p;
  const m = p.gradF.length, n = p.gradLambdaF.length;
  const lp = buildLp(p);
  let kept = 0, dropped = 0;
  withRead(lp.text, (model, names) => {
    const read = model.getLp("csr");
    const col = (name: string) => names.indexOf(name);
    for (let j = 0; j < m; j++) {
      const s = 2 ** -lp.rowScale[j];
      const got = new Map<number, number>();
      for (let q = read.matrix.starts[j]; q < read.matrix.starts[j + 1]; q++) got.set(read.matrix.indices[q], read.matrix.values[q]);
      const big = Math.max(
        ...Array.from({ length: m }, (_, i) => Math.abs(hWW[j * m + i])),
        ...Array.from({ length: n }, (_, k) => Math.abs(hWL[j * n + k])),
      );
      // a row far below ε (|entries| < 2^-60·ε) cannot be scaled up without its slack bound reaching
      // HiGHS's infinity; every other row's largest entry is scaled into (1/2, 1]
      if (big >= 2 ** -60 * p.epsilon) assert(big / s > 0.25 && big / s <= 1, `row ${j} scaled to ${big / s}`);
      const check = (c: number, name: string) => {
        const v = got.get(col(name));
        if (c === 0) return assert(v === undefined, `row ${j} ${name}: zero written`);
        if (Math.abs(c / s) <= HIGHS_LIMITS.smallMatrix) {
          assert(v === undefined, `row ${j} ${name}: ${c / s} is at most small_matrix_value, HiGHS holds ${v}`);
          return dropped++;
        }
        assert(v !== undefined && v * s === c, `row ${j} ${name}: ${c} read as ${v} × 2^${-lp.rowScale[j]}`);
        kept++;
      };
      for (let i = 0; i < m; i++) check(hWW[j * m + i], `w${i}`);
      for (let k = 0; k < n; k++) check(hWL[j * n + k], `l${k}`);
      assert(got.get(col(`s${j}`)) === -1, "slack coefficient");
      assert(
        read.colUpper[col(`s${j}`)] * s === p.epsilon && read.colLower[col(`s${j}`)] * s === -p.epsilon,
        `row ${j}: slack bound is 2^e·ε`,
      );
    }
    // costs: 2^objectiveScale times ∇F, exact
    for (let i = 0; i < m; i++) assert(read.colCost[col(`w${i}`)] * 2 ** -lp.objectiveScale === p.gradF[i], `cost w${i}`);
    assert(read.colCost[col("l1")] * 2 ** -lp.objectiveScale === 1e-9, "cost l1");
  });
  assertEquals(dropped, lp.dropped, "the writer counts what HiGHS drops");
  assert(kept > 1000 && dropped > 0, `${kept} kept, ${dropped} dropped`);
});

Deno.test("the model solveDirectionLp passes to HiGHS holds LP (11)'s float64s exactly, up to each row's power of two; the same LP as the text", async () => {
  const p = wildLp();
  const m = p.gradF.length, n = p.gradLambdaF.length;
  const s = scaleLp(p);
  const model = highs.createModel();
  let read: ReturnType<HighsModel["getLp"]>;
  try {
    model.options.set(HIGHS_SETTINGS(10));
    model.passModel(highsModelData(s));
    read = model.getLp("csr");
  } finally {
    model.dispose();
  }
  let kept = 0, dropped = 0;
  s.rowOf.forEach((j, r) => {
    const scale = 2 ** -s.rowScale[j];
    const got = new Map<number, number>();
    for (let q = read.matrix.starts[r]; q < read.matrix.starts[r + 1]; q++) got.set(read.matrix.indices[q], read.matrix.values[q]);
    const check = (c: number, col: number) => {
      const v = got.get(col);
      if (c === 0) return assert(v === undefined, `row ${j} col ${col}: zero passed`);
      if (Math.abs(c / scale) <= HIGHS_LIMITS.smallMatrix) {
        assert(v === undefined, `row ${j} col ${col}: ${c / scale} is at most small_matrix_value, HiGHS holds ${v}`);
        return dropped++;
      }
      assert(v !== undefined && v * scale === c, `row ${j} col ${col}: ${c} held as ${v} × 2^${-s.rowScale[j]}`);
      kept++;
    };
    for (let k = 0; k < n; k++) check(p.hWL[j * n + k], k);
    for (let i = 0; i < m; i++) check(p.hWW[j * m + i], n + i);
    assert(read.rowUpper[r] * scale === p.epsilon && read.rowLower[r] * scale === -p.epsilon, `row ${j}: bounds ±2^e·ε`);
  });
  for (let i = 0; i < m; i++) assert(read.colCost[n + i] * 2 ** -s.objectiveScale === p.gradF[i], `cost w${i}`);
  assert(read.colCost[1] * 2 ** -s.objectiveScale === 1e-9, "cost l1");
  assert(read.colLower[0] === -1 && read.colUpper[0] === 1 && read.colLower[1] === 0, "dλ bounds (0 below where λ = 0)");
  for (let i = 0; i < m; i++) assert(read.colLower[n + i] === -0.5 && read.colUpper[n + i] === 0.5, `|dw${i}| ≤ δ`);
  assertEquals(dropped, s.dropped, "scaleLp counts what HiGHS drops");
  assert(kept > 1000 && dropped > 0, `${kept} kept, ${dropped} dropped`);
  // the solve (passModel) and the text (LP reader) are the same LP: the same optimum
  const sol = await solveDirectionLp(p);
  const viaText = withRead(buildLp(p).text, (mdl) => (mdl.run(), mdl.getObjectiveValue()));
  assertEquals(sol.status, "optimal");
  const textObjective = viaText * 2 ** -s.objectiveScale;
  assert(Math.abs(sol.objective! - textObjective) <= 1e-9 * Math.abs(textObjective), `objective ${sol.objective} vs text ${textObjective}`);
});

Deno.test("NaN and ±∞ are refused with the coefficient named; solveDirectionLp answers 'error' instead of throwing", async () => {
  const base: DirectionLp = {
    gradF: Float64Array.of(1, -1),
    gradLambdaF: Float64Array.of(0),
    hWL: Float64Array.of(1, 0),
    hWW: Float64Array.of(2, 0, 0, 1),
    lambdas: [0.1],
    epsilon: 0.01,
    delta: 1,
  };
  const cases: [Partial<DirectionLp>, RegExp][] = [
    [{ hWW: Float64Array.of(2, 0, NaN, 1) }, /H_ww\[1,0\] = NaN/],
    [{ hWL: Float64Array.of(1, -Infinity) }, /H_wλ\[1,0\] = -Infinity/],
    [{ gradF: Float64Array.of(Infinity, 0) }, /∇wF\[0\] = Infinity/],
    [{ gradF: Float64Array.of(1e20, 0) }, /∇wF\[0\] = 100000000000000000000 is at or beyond HiGHS's infinity/],
    [{ gradLambdaF: Float64Array.of(NaN) }, /∇λF\[0\] = NaN/],
    [{ epsilon: NaN }, /ε = NaN/],
    [{ delta: Infinity }, /δ = Infinity/],
    [{ dLambdaLower: [NaN] }, /dλ lower bound \[0\] = NaN/],
    [{ dLambdaUpper: [1e300] }, /dλ upper bound \[0\] = 1e\+300 is at or beyond/],
  ];
  for (const [change, re] of cases) {
    const p = { ...base, ...change };
    assertThrows(() => buildLpText(p), LpCoefficientError, re);
    const sol = await solveDirectionLp(p);
    assertEquals(sol.status, "error");
    assertMatch(sol.message ?? "", re);
  }
  assertEquals((await solveDirectionLp(base)).status, "optimal", "the base case itself solves");
  // a box on dλ is written as given and binds
  const boxed = { ...base, dLambdaLower: [-0.25], dLambdaUpper: [0.125] };
  assertMatch(buildLpText(boxed), /^ -0\.25 <= l0 <= 0\.125$/m);
  const sol = await solveDirectionLp(boxed);
  assert(sol.dLambda![0] >= -0.25 && sol.dLambda![0] <= 0.125 && Math.abs(sol.dLambda![0]) > 0, `dλ ${sol.dLambda![0]}`);
});

/** Solves n×n A x = b by Gaussian elimination with partial pivoting; undefined when (numerically) singular. */
function solveDense(A: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    const colMax = Math.max(...M.map((r) => Math.abs(r[c])));
    if (!(Math.abs(M[piv][c]) > 1e-13 * colMax)) return undefined;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/**
 * LP (11) solved independently in float64: every vertex (N active constraints out of the 2m row bounds,
 * the dλ bounds and the dw box) is computed by Gaussian elimination, the feasible one with the lowest
 * objective wins. Returns it and the runner-up's objective gap (uniqueness).
 */
function vertexOptimum(p: DirectionLp): { z: number[]; objective: number; gap: number } {
  const m = p.gradF.length, n = p.gradLambdaF.length, N = n + m;
  const cons: { a: number[]; b: number }[] = [];
  for (let j = 0; j < m; j++) {
    const a = [...Array.from({ length: n }, (_, k) => p.hWL[j * n + k]), ...Array.from({ length: m }, (_, i) => p.hWW[j * m + i])];
    cons.push({ a, b: p.epsilon }, { a: a.map((v) => -v), b: p.epsilon });
  }
  const unit = (i: number, s: number) => Array.from({ length: N }, (_, q) => (q === i ? s : 0));
  for (let k = 0; k < n; k++) cons.push({ a: unit(k, 1), b: 1 }, { a: unit(k, -1), b: p.lambdas[k] <= 0 ? 0 : 1 });
  for (let i = 0; i < m; i++) cons.push({ a: unit(n + i, 1), b: p.delta! }, { a: unit(n + i, -1), b: p.delta! });
  const c = [...p.gradLambdaF, ...p.gradF];
  const objs: number[] = [];
  let best: { z: number[]; objective: number } | undefined;
  const pick: number[] = [];
  const visit = (from: number) => {
    if (pick.length === N) {
      const z = solveDense(pick.map((q) => cons[q].a), pick.map((q) => cons[q].b));
      if (!z) return;
      const feasible = cons.every(({ a, b }) => {
        const terms = a.map((v, q) => v * z[q]);
        return terms.reduce((s, t) => s + t, 0) <= b + 1e-12 * (terms.reduce((s, t) => s + Math.abs(t), 0) + Math.abs(b));
      });
      if (!feasible) return;
      const objective = c.reduce((s, v, q) => s + v * z[q], 0);
      objs.push(objective);
      if (!best || objective < best.objective) best = { z, objective };
      return;
    }
    for (let q = from; q < cons.length; q++) {
      pick.push(q);
      visit(q + 1);
      pick.pop();
    }
  };
  visit(0);
  const scale = Math.abs(best!.objective);
  const gap = Math.min(...objs.filter((o) => o - best!.objective > 1e-9 * scale).map((o) => o - best!.objective));
  return { ...best!, gap };
}

Deno.test("a solved LP with H entries near 1e-10 (and 3e-20) matches an independent float64 vertex enumeration", async () => {
  const H = [
    [2e-10, 1e-10, 3e-20],
    [1e-10, 3e-10, 0.5e-10],
    [3e-20, 0.5e-10, 1.5e-10],
  ];
  for (
    const [gradF, hWL, epsilon, delta] of [
      [[0.3, -1.1, 0.5], [1.2345678901234568e-10, -2e-10, 0.7e-10], 1e-11, 1],
      [[3e-10, -1.1e-10, 5e-11], [1.2345678901234568e-10, -2e-10, 0.7e-10], 1e-11, 1], // costs near 1e-10 too
      [[-0.2, 0.9, 0.4], [1e-20, 3e-10, -1e-10], 2e-12, 0.05], // the box binds
    ] as const
  ) {
    const p: DirectionLp = {
      gradF: Float64Array.from(gradF),
      gradLambdaF: new Float64Array(1),
      hWL: Float64Array.from(hWL),
      hWW: Float64Array.from(H.flat()),
      lambdas: [0.01],
      epsilon,
      delta,
    };
    const ref = vertexOptimum(p);
    assert(ref.gap > 1e-6 * Math.abs(ref.objective), `the float64 optimum is unique (gap ${ref.gap})`);
    const sol = await solveDirectionLp(p);
    assertEquals(sol.status, "optimal");
    assertEquals(sol.dropped, 0);
    const rel = Math.abs(sol.objective! - ref.objective) / Math.abs(ref.objective);
    assert(rel < 1e-9, `objective ${sol.objective} vs float64 ${ref.objective} (rel ${rel})`);
    const z = [...sol.dLambda!, ...sol.dw!];
    const zScale = Math.max(...ref.z.map(Math.abs));
    z.forEach((v, q) => assert(Math.abs(v - ref.z[q]) <= 1e-8 * zScale, `z[${q}] = ${v} vs float64 ${ref.z[q]}`));
    // the HiGHS point keeps |H_wλ dλ + H_ww dw| ≤ ε in float64 (to 1e-6 of ε)
    for (let j = 0; j < 3; j++) {
      const r = p.hWL[j] * z[0] + H[j].reduce((s, h, i) => s + h * z[1 + i], 0);
      assert(Math.abs(r) <= epsilon * (1 + 1e-6), `row ${j}: |${r}| > ε = ${epsilon}`);
    }
  }
});
