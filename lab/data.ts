/**
 * The lab's data: a fixed subset of the embedded MNIST digits, written into the build as one static binary
 * asset (the library's compact MNIST format), and the 2-D toy set. The same functions serve the Vite build
 * (Node), the arm workers (browser) and the Node speed comparison in the lab's test.
 */
import { data as dataset } from '../src/index.js';
import type { DataSetName } from './config.js';

export { MNIST_ASSET } from './config.js';

/** Digits bundled into the build (half of the package's 10,000: 7.8 MB at 2 bytes per pixel). */
export const LAB_DIGITS = 5000;
/** How the bundled digits are split into training and test digits (the split itself follows the seed). */
export const LAB_TRAIN = 4000;
export const LAB_TEST = 1000;

/** The bundled subset: LAB_DIGITS digits drawn without replacement by a fixed permutation (about 500 per class). */
export function labSubset(mnist: dataset.MnistData): dataset.MnistData {
  const { train } = dataset.splitDataset(mnist, { trainSize: LAB_DIGITS, testSize: 0, seed: 20150211 });
  return { images: train.x, labels: train.y, count: train.count, imageShape: [28, 28] };
}

/** The binary asset: {@link labSubset} in the library's MNIST binary format. Node only (reads the package). */
export async function buildMnistAsset(): Promise<Uint8Array> {
  return dataset.encodeMnistBinary(labSubset(await dataset.loadMnist()));
}


/** The toy set: four Gaussian blobs in the plane (the library's syntheticDataset), hard enough to need a hidden layer. */
export function toyDataset(seed: number): dataset.Dataset {
  return dataset.syntheticDataset({ n: 1000, features: 2, classes: 4, noise: 0.45, seed });
}

/** Training and test rows for a data set and seed. `mnistBytes` is the asset's content (for 'mnist'). */
export function labData(name: DataSetName, seed: number, mnistBytes?: ArrayBuffer | Uint8Array): { train: dataset.Dataset; test: dataset.Dataset } {
  if (name === 'toy') return dataset.splitDataset(toyDataset(seed), { trainSize: 800, testSize: 200, seed });
  if (!mnistBytes) throw new Error("labData: the 'mnist' data set needs the bundled digits");
  return dataset.splitDataset(dataset.mnistFromBinary(mnistBytes), { trainSize: LAB_TRAIN, testSize: LAB_TEST, seed });
}
