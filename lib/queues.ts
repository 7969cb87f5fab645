// Python's queue exceptions: a non-blocking or timed get on an empty queue raises Empty, a put on a
// full bounded one raises Full. The queues themselves (for threads and processes) live here too.
export class Empty extends Error {
  name = 'Empty';
  constructor(message = 'The queue is empty') { super(message); }
}

export class Full extends Error {
  name = 'Full';
  constructor(message = 'The queue is full') { super(message); }
}
