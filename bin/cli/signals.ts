/** Resolves on the first SIGINT/SIGTERM; a second one stops at once. */
export function stopSignal (): Promise<void> {
  return new Promise(resolve => {
    const stop = (): void => {
      process.removeListener('SIGINT', stop)
      process.removeListener('SIGTERM', stop)
      process.once('SIGINT', () => process.exit(130))
      process.once('SIGTERM', () => process.exit(143))
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
