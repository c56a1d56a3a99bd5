// The part of Bun's `bun:ffi` the netlink helper uses (https://bun.sh/docs/api/ffi): the types
// of the libc calls it declares. Node never loads the helper; only its type check reads this.
declare module 'bun:ffi' {
  export const FFIType: {
    readonly i32: 'i32';
    readonly i64: 'i64';
    readonly u64: 'u64';
    readonly ptr: 'ptr';
    readonly cstring: 'cstring';
  };
  /** A native address. */
  export type Pointer = number & { readonly __pointer: unique symbol };
  export function ptr(view: ArrayBufferView): Pointer;
  export const read: { i32(at: Pointer, offset: number): number };
  type Returned<T> = T extends 'i32'
    ? number
    : T extends 'i64' | 'u64'
      ? bigint
      : T extends 'ptr'
        ? Pointer
        : never;
  export function dlopen<const S extends Record<string, { args: readonly string[]; returns: string }>>(
    path: string,
    symbols: S,
  ): {
    symbols: { [K in keyof S]: (...args: (number | bigint | Pointer)[]) => Returned<S[K]['returns']> };
  };
}
