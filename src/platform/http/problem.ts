// RFC 9457 problem JSON: the one shape every error answer has.
import { Type, type Static } from 'typebox';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI naming the problem type' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: Type.String({ description: 'stable snake_case machine-readable code', pattern: '^[a-z][a-z0-9_]*$' }),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' },
);

export type Problem = Static<typeof ProblemSchema>;

export function problemType(code: string): string {
  return `urn:financehub:problem:${code}`;
}

/** Response schemas for the error statuses; spread into each route's `response`. */
export const problemResponses = {
  '4xx': ProblemSchema,
  '5xx': ProblemSchema,
} as const;
