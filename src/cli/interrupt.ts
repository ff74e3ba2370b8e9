/**
 * Ctrl-C (or SIGTERM) during a command that trains: the first asks the loop to stop after the
 * step in progress and save, so that `--resume` continues the run exactly; a second quits at once.
 */
export async function stoppable<T>(run: (signal: AbortSignal) => Promise<T>): Promise<{ value: T; interrupted: boolean }> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error('stopping after this step and saving (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const value = await run(controller.signal);
    return { value, interrupted: controller.signal.aborted };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** The exit code of a command whose run was (or was not) interrupted: 130, as shells report Ctrl-C. */
export function exitCode(interrupted: boolean): number {
  return interrupted ? 130 : 0;
}
