// Package translate turns the Gateway API objects one Gateway depends on into the model its
// Kengine pods serve (controller/ir) and the status of every object it read (controller/status).
// It is pure, never fails as a whole, and validates everything a route author writes: whatever
// is invalid is left out with a status reason, so one bad object cannot take down the rest.
package translate
