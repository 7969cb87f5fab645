// A type-level spec: every line under @ts-expect-error is a wrong use that mpkit's types must
// refuse. tsc fails the type-check when one is accepted: npm test's, and the strict consumer's in
// docs/install.md, which checks this file against the installed package.
import * as mp from 'mpkit';
import { Thread } from 'mpkit/threading';

export function fill(num: mp.SharedValue<'d'>, count: number) { num.value = count; }
export function square(x: number): number { return x * x; }
export function ping(): string { return 'pong'; }

export async function uses(pool: mp.Pool) {
  // @ts-expect-error 'x' is not a typecode
  mp.Value('x', 0);
  // @ts-expect-error a 'd' slot holds a number, not a bigint
  mp.Value('d', 5n);
  // @ts-expect-error an 'i' array holds numbers
  mp.Array('i', ['1']);
  // @ts-expect-error the target's second argument is a number
  new mp.Process({ target: fill, args: [mp.Value('d', 0), 'three'] });
  // @ts-expect-error the target takes arguments and none are given
  new mp.Process({ target: fill });
  // @ts-expect-error the same for a thread
  new Thread({ target: fill });
  // @ts-expect-error Pool.map's items are what its function takes
  await pool.map(square, ['1', '2']);
  // @ts-expect-error apply needs the arguments its function takes
  await pool.apply(square);

  // What is right is accepted, with results typed from the function.
  const squares: number[] = await pool.map(square, [1, 2]);
  const pong: string = await pool.apply(ping);
  const one: number = await pool.apply(square, [1]);
  new mp.Process({ target: 'fill' }); // a target named by its export is not checked
  new mp.Process({ target: ping });
  return [squares, pong, one];
}
