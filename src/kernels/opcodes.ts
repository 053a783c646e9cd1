/*
 * The elementwise and reduction ops: their names and their codes in the wasm ABI, declared once for both sides
 * (and the operand modes of the 2-D binary and broadcast kernels).
 * TypeScript reads the op-name unions from here (types.ts: `BinaryOp = keyof typeof BinaryCode`, ...) and the
 * wasm kernels pass `BinaryCode[op]`-style codes (wasm/kernels.ts); AssemblyScript compiles this same file
 * (assembly/elementwise.ts and assembly/reduce.ts import it) and switches on the codes.
 *
 * Plain `const enum`s only, nothing else: the file must stay valid AssemblyScript. `const` matters to
 * AssemblyScript, which inlines const-enum members as constants (so `binLoop(BinaryCode.add, ...)` is specialized
 * per op, as with `@inline const`); a plain enum compiles to globals and loses that.
 *
 * Adding an op: add its member here with the next code; the compiler then points at every place to handle it
 * (the js kernels' switches, the wasm kernels' tables); add its case in assembly/ too and run `npm run build:wasm`.
 */

/** Elementwise binary ops (`BinaryOp`); `eq` gives 1 where equal, else 0 (not differentiable). */
export const enum BinaryCode { add = 0, sub = 1, mul = 2, div = 3, pow = 4, max = 5, min = 6, eq = 7 }

/** Elementwise unary ops (`UnaryOp`). */
export const enum UnaryCode {
  neg = 0, exp = 1, log = 2, sqrt = 3, abs = 4, sigmoid = 5, relu = 6, tanh = 7, square = 8, reciprocal = 9,
}

/** Reductions (`ReduceOp`). */
export const enum ReduceCode { sum = 0, max = 1, min = 2 }

/**
 * How an operand covers the 2-D form [R, C] of an output (binary_2d, broadcast_2d): all of it, one row repeated,
 * one value per row, one value.
 */
export const enum Mode { Full = 0, Row = 1, Col = 2, Scalar = 3 }
