// TypeScript types for Storyline's schema and for every operation in operations/.
// In this folder (or with the paths adjusted in your project):
//   npm install --save-dev @graphql-codegen/cli@5 @graphql-codegen/typescript@4 \
//     @graphql-codegen/typescript-operations@4 graphql@16 typescript
//   npx graphql-codegen --config codegen.ts
// With @graphql-codegen/typescript-operations 6 or later, list only "typescript-operations":
// it emits the enums and input types itself, and "typescript" would declare them twice.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["operations/*.graphql"],
  generates: {
    "generated/storyline.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: {
        // The JSON shapes the server sends: times and dates as ISO-8601 strings.
        scalars: { DateTime: "string", Date: "string", JSON: "unknown" },
        enumsAsTypes: true,
        // Enums stay open: a newer server may add an ErrorCode (or any value); clients must cope.
        futureProofEnums: true,
        avoidOptionals: { field: true, inputValue: false },
        nonOptionalTypename: false,
      },
    },
  },
};

export default config;
