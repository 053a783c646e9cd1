import { afterAll } from 'vitest';
import { getBackend, setBackend } from '../../src/index.js';
import { naturalLoops } from './natural-loops.js';

const before = getBackend().name;
afterAll(() => setBackend(before));

naturalLoops('js');
