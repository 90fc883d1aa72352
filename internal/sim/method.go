package sim

// methodText closes the simulation section of docs/benchmarks.md: how the
// figures above were made and how far to trust them.
const methodText = `### Method

TODO
`
