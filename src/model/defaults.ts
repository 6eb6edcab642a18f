/** Compile defaults, in a module of their own so the CLI can show them without loading the compiler. */
export const DEFAULT_SCALE = 8;
export const DEFAULT_HEADROOM = 2;

/** Scales calibration tries when the caller fixes none, smallest (cheapest circuit) first. */
export const AUTO_SCALES = [DEFAULT_SCALE, 10, 12, 14];
