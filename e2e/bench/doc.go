// Command bench is `make bench`: it measures how fast a route change reaches traffic, what the
// controller costs at scale, the push fan-out and the data plane, each as a ratio against a
// reference measured in the same run, and writes a table, results.json and propagation.svg.
package main
