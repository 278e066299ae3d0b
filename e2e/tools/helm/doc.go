// Package helm pins the Helm release the project uses (the go.mod tool directive: run it with
// `go tool helm` from this directory) and tests the chart in manifests/chart/kengine-gateway:
// it lints, it renders the plain manifests with default values, and each value has its effect.
package helm
