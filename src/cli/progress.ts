import cliProgress from 'cli-progress';

/**
 * A progress bar for the long CLI steps on a terminal; silent when stderr is not one (CI, pipes).
 * With `perStage`, fractions are within each stage: the bar starts over at every new stage, with
 * its own time estimate (cli-progress' ETA from the rate so far).
 */
export function stageBar(title: string, opts: { perStage?: boolean } = {}): { update: (stage: string, fraction: number) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const eta = opts.perStage ? ' ETA {eta_formatted}' : '';
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {percentage}% {stage}${eta}`, stream: process.stderr, hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let current = '';
  bar.start(100, 0, { stage: '' });
  return {
    update: (stage, fraction) => {
      if (opts.perStage && stage !== current) bar.start(100, 0, { stage });
      current = stage;
      bar.update(Math.round(fraction * 100), { stage });
    },
    stop: () => bar.stop(),
  };
}
