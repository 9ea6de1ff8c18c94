package main

import (
	"context"
	"fmt"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/sink"
)

// specObject returns the object type an import or a suggestion is about:
// the mapping spec's object section, else -object (flag, set when the
// user gave it). A spec whose section names another type than an explicit
// -object is a usage error. The spec returned has an object section when
// the type is not contact, so that its schema is built for that type.
func specObject(spec *mapping.Spec, specPath, flag string, set bool) (string, *mapping.Spec, error) {
	if spec == nil {
		return flag, nil, nil
	}
	if spec.Object != nil {
		if set && flag != spec.Object.Name {
			return "", nil, usagef("-object %s contradicts -mapping %s, whose object section imports %s records: leave -object out, or use a spec for %s", flag, specPath, spec.Object.Name, flag)
		}
		return spec.Object.Name, spec, nil
	}
	if flag == intake.ObjectContact {
		return flag, spec, nil
	}
	c := *spec
	c.Object = &mapping.ObjectSpec{Name: flag}
	return flag, &c, nil
}

// storedSchema returns the schema the store holds for an object type, or
// nil when it never saw the type (or cannot tell).
func storedSchema(ctx context.Context, s sink.Sink, object string) (*intake.Schema, error) {
	sr, ok := s.(sink.SchemaReader)
	if !ok {
		return nil, nil
	}
	sc, err := sr.Schema(ctx, object)
	if err != nil {
		return nil, fmt.Errorf("read the store's schema of %s: %w", object, err)
	}
	return sc, nil
}

// objectSchema returns the schema an import of object writes, and the
// spec to compile against it: with a spec, the spec's schema merged with
// what the store holds for the type (a custom type's fields come from the
// spec's "fields" and the store); without, the store's schema of the type,
// else its default schema. A type that neither the store nor the spec
// defines is a usage error saying what to do.
func objectSchema(ctx context.Context, s sink.Sink, object string, spec *mapping.Spec, specPath string) (*intake.Schema, *mapping.Spec, error) {
	stored, err := storedSchema(ctx, s, object)
	if err != nil {
		return nil, nil, err
	}
	if spec != nil {
		schema, err := spec.MergeSchema(stored)
		if err != nil {
			return nil, nil, usagef("-mapping %s: %s", specPath, plainError(err))
		}
		bound, err := spec.Against(schema)
		if err != nil {
			return nil, nil, usagef("-mapping %s: %s", specPath, plainError(err))
		}
		return schema, bound, nil
	}
	if stored != nil {
		return stored, nil, nil
	}
	if d := intake.DefaultSchema(object); d != nil {
		return d, nil, nil
	}
	return nil, nil, unknownObject(object)
}

// unknownObject is the usage error of an object type that neither the
// store nor a mapping spec defines.
func unknownObject(object string) error {
	return usagef("-object %s: the store holds no %s records and no schema for them: give -mapping with a spec whose object section names %q and whose \"fields\" define its fields", object, object, object)
}
