// Tests are compiled by `tsc` (npm run build) and jest runs the emitted ES modules
// directly: no second TypeScript pipeline inside jest, and the code under test is the
// code that ships.
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/dist/test'],
  testMatch: ['**/*.test.js'],
  transform: {},
  testTimeout: 60000,
  // Child processes and loopback servers belong to one test file each; files run in
  // parallel workers, but never more than the two cores this project is sized for.
  maxWorkers: 2,
};
