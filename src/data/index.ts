export { loadMnist, type LoadMnistOptions, type LoadedMnist } from './mnist.js';
export { mnistFromArrays, mnistFromBinary, encodeMnistBinary, MNIST_PIXELS, type MnistData } from './mnist-format.js';
export { makeDataset, mnistDataset, subset, splitDataset, permutation, type Dataset, type SplitOptions } from './dataset.js';
export { DataLoader, type DataLoaderOptions, type DataLoaderState, type Batch } from './loader.js';
export { syntheticDataset, type SyntheticOptions } from './synthetic.js';
