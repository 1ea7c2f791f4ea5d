/**
 * Errors the client raises: Sluice's problem+json refusals, decoded once.
 */
import type { components } from "./schema.js";

type Problem = components["schemas"]["Problem"];

/** Every stable code Sluice answers with: the OpenAPI document's `ErrorCode` enum, generated
 * from the server's one `ErrorCode` enum, so a `switch` over codes is checked by the compiler. */
export type ErrorCode = components["schemas"]["ErrorCode"];

/** What `SluiceError.code` holds: Sluice's code, or `http_<status>` when an answer carried no
 * problem body (a proxy's page, say). */
export type SluiceErrorCode = ErrorCode | `http_${number}`;

/** A refusal from Sluice (a problem+json body) or from the store. */
export class SluiceError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Sluice's stable error code (`too_large`, `quota_exceeded`, …), or `http_<status>` when
   * the answer was not a problem body. */
  readonly code: SluiceErrorCode;
  /** The whole problem body, when Sluice sent one. */
  readonly problem: Problem | undefined;

  constructor(status: number, code: SluiceErrorCode, message: string, problem?: Problem) {
    super(message);
    this.name = "SluiceError";
    this.status = status;
    this.code = code;
    this.problem = problem;
  }

  /** Builds the error of a failed openapi-fetch call. */
  static from(response: Response, body: unknown): SluiceError {
    const problem = isProblem(body) ? body : undefined;
    const code: SluiceErrorCode = problem?.code ?? `http_${response.status}`;
    const message = problem?.detail ?? problem?.title ?? response.statusText;
    return new SluiceError(response.status, code, message || code, problem);
  }
}

function isProblem(body: unknown): body is Problem {
  return typeof body === "object" && body !== null && "code" in body;
}

/** Unwraps an openapi-fetch result: its data, or a thrown `SluiceError`. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    throw SluiceError.from(result.response, result.error);
  }
  return result.data;
}

