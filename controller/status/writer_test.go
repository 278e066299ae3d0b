package status

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestUpdate(t *testing.T) {
	gr := schema.GroupResource{Resource: "things"}
	conflict := apierrors.NewConflict(gr, "x", errors.New("stale"))
	tests := []struct {
		name       string
		current    int
		updateErrs []error // answers of successive updates
		fresh      int     // what a read after a conflict returns
		wantWrites []int   // the values written, in order
		wantErr    bool
	}{
		{name: "unchanged: nothing written", current: 5},
		{name: "changed: written once", current: 1, updateErrs: []error{nil}, wantWrites: []int{2}},
		{name: "conflict: recomputed from the fresh copy", current: 1, updateErrs: []error{conflict, nil}, fresh: 3, wantWrites: []int{2, 4}},
		{name: "deleted meanwhile: nothing to report", current: 1, updateErrs: []error{apierrors.NewNotFound(gr, "x")}, wantWrites: []int{2}},
		{name: "other errors are returned", current: 1, updateErrs: []error{errors.New("boom")}, wantWrites: []int{2}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var writes []int
			err := update(context.Background(), tt.current,
				func(cur int) (int, bool) { return cur + 1, cur != 5 },
				func(_ context.Context, v int) error {
					writes = append(writes, v)
					return tt.updateErrs[len(writes)-1]
				},
				func(context.Context) (int, error) { return tt.fresh, nil })
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if len(writes) != len(tt.wantWrites) {
				t.Fatalf("writes %v, want %v", writes, tt.wantWrites)
			}
			for i := range writes {
				if writes[i] != tt.wantWrites[i] {
					t.Errorf("writes %v, want %v", writes, tt.wantWrites)
				}
			}
		})
	}
}
