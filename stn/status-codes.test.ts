import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import {
  AlreadyStolenError,
  InterfaceNotFoundError,
  InvalidInterfaceError,
  KernelError,
  NotStolenError,
  PreconditionError,
  StateFileError,
  SysfsError,
} from './errors.ts';
import { grpcStatusOf, isRefusal } from './status-codes.ts';

describe('grpcStatusOf', () => {
  it.each([
    [new InvalidInterfaceError('x'), status.INVALID_ARGUMENT, true],
    [new InterfaceNotFoundError('x'), status.NOT_FOUND, true],
    [new AlreadyStolenError('x'), status.ALREADY_EXISTS, true],
    [new NotStolenError('x'), status.FAILED_PRECONDITION, true],
    [new PreconditionError('x'), status.FAILED_PRECONDITION, true],
    [new KernelError('x'), status.INTERNAL, false],
    [new SysfsError('x'), status.INTERNAL, false],
    [new StateFileError('x'), status.INTERNAL, false],
    [new Error('x'), status.UNKNOWN, false],
  ])('%s → %i', (err, code, refusal) => {
    expect(grpcStatusOf(err)).toBe(code);
    expect(isRefusal(grpcStatusOf(err))).toBe(refusal);
  });
});
