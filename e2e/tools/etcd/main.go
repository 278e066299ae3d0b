// Command etcd is the etcd server of the local environment: etcd's own entry point, built from
// the module proxy at the version go.mod pins, so that no prebuilt binary is downloaded.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
