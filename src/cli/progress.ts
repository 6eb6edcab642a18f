import cliProgress from 'cli-progress';

/** A progress bar for the long CLI steps on a terminal; silent when stderr is not one (CI, pipes). */
export function stageBar(title: string): { update: (stage: string, fraction: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {percentage}% {stage}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { stage: '' });
  return { update: (stage, fraction) => bar.update(Math.round(fraction * 100), { stage }), stop: () => bar.stop() };
}
