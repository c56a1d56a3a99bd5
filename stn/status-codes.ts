// Which gRPC status each STN error travels as. The error's class name also goes in the
// `netloom-error` trailer so a client can tell conditions that share a code apart.
import { status } from '@grpc/grpc-js';
import {
  AlreadyStolenError,
  InterfaceNotFoundError,
  InvalidInterfaceError,
  NotStolenError,
  PreconditionError,
  StnError,
} from './errors.ts';

export const ERROR_TRAILER = 'netloom-error';

export function grpcStatusOf(err: unknown): status {
  if (err instanceof InvalidInterfaceError) return status.INVALID_ARGUMENT;
  if (err instanceof InterfaceNotFoundError) return status.NOT_FOUND;
  if (err instanceof AlreadyStolenError) return status.ALREADY_EXISTS;
  if (err instanceof NotStolenError || err instanceof PreconditionError) return status.FAILED_PRECONDITION;
  if (err instanceof StnError) return status.INTERNAL;
  return status.UNKNOWN;
}

/** Whether the request was refused before anything was changed. */
export function isRefusal(code: status): boolean {
  return (
    code === status.INVALID_ARGUMENT ||
    code === status.NOT_FOUND ||
    code === status.ALREADY_EXISTS ||
    code === status.FAILED_PRECONDITION
  );
}
