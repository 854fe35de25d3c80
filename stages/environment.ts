/** Library versions for the manifest (the backend is recorded by the stages that train). */
export function environmentInfo(backend: string): Record<string, string> {
  return {
    backend,
    "@tensorflow/tfjs": "4.22.0",
    highs: "1.15.3",
    zod: "4.6.7",
  };
}
