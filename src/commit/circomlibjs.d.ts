// circomlibjs ships without types: the part of its API zkinfer uses.
declare module 'circomlibjs' {
  interface PoseidonField {
    toObject(element: Uint8Array): bigint;
  }
  interface Poseidon {
    (inputs: readonly bigint[]): Uint8Array;
    F: PoseidonField;
  }
  export function buildPoseidon(): Promise<Poseidon>;
}
