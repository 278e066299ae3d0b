// Package managed owns the Kengine the controller runs for a Gateway (GEP-1762): the generated
// ServiceAccount, admin Secret, Deployment or DaemonSet and Service, the parameters ConfigMaps
// that shape them, and the admin PKI that gives every pod a mutual-TLS Admin API.
package managed
