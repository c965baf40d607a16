// Kubernetes' opaque CEL types (Quantity, ...) as protobuf message types of our own, since @bufbuild/cel represents
// every non-JSON value as a message: `type(quantity('1'))` is `kubernetes.Quantity`, and `==` compares the one field,
// which holds a canonical form so that equal values are equal (quantity('200M') == quantity('0.2G')).
import { create, createFileRegistry, type DescMessage, type Message, type Registry } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { objectType, type CelType } from '@bufbuild/cel';

/** Kubernetes' type names: package, then the types in it. */
const PACKAGES = { kubernetes: ['Quantity', 'Semver', 'URL'], net: ['IP', 'CIDR'] } as const;
type OpaqueName = 'kubernetes.Quantity' | 'kubernetes.Semver' | 'kubernetes.URL' | 'net.IP' | 'net.CIDR';

export const opaqueRegistry: Registry = createFileRegistry(
  create(FileDescriptorSetSchema, {
    file: Object.entries(PACKAGES).map(([pkg, names]) => ({
      name: `gatekeeper/${pkg}-cel.proto`,
      package: pkg,
      syntax: 'proto3',
      messageType: names.map((name) => ({
        name,
        field: [{ name: 'value', number: 1, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: 'value' }],
      })),
    })),
  }),
);

const desc = (name: OpaqueName): DescMessage => opaqueRegistry.getMessage(name)!;

/** A CEL type and its values: `wrap` makes a value from the canonical string, `unwrap` reads it back. */
export function opaqueType(name: OpaqueName): { type: CelType; wrap: (canonical: string) => Message; unwrap: (v: unknown) => string } {
  const d = desc(name);
  return {
    type: objectType(d),
    wrap: (canonical) => create(d, { value: canonical } as never),
    unwrap: (v) => {
      const m = (v as { message?: { value?: unknown } }).message ?? (v as { value?: unknown });
      if (typeof m?.value !== 'string') throw new Error(`no such overload: not a ${name}`);
      return m.value;
    },
  };
}
