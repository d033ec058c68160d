// What every checkpoint problem throws: a message that names the file and what is wrong.

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}
