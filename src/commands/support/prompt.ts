import { createInterface } from 'node:readline';

export interface PromptIO {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream;
}

const defaultIO = (): PromptIO => ({ input: process.stdin, output: process.stderr });

/** Ask for one line (shown as typed). Prompts go to stderr so stdout stays for results. */
export function ask(question: string, io: PromptIO = defaultIO()): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: io.input, output: io.output, terminal: false });
    io.output.write(question);
    rl.once('line', (line) => {
      rl.close();
      resolve(line.trim());
    });
    rl.once('close', () => reject(new Error('input ended before an answer was given')));
  });
}

/**
 * Ask for a secret: on a terminal nothing is echoed (raw mode, characters read one by one);
 * from a pipe, one line is read. The answer is never written anywhere.
 */
export function askHidden(question: string, io: PromptIO = defaultIO()): Promise<string> {
  if (!io.input.isTTY || !io.input.setRawMode) return ask(question, io);
  const input = io.input;
  return new Promise((resolve, reject) => {
    io.output.write(question);
    let value = '';
    const done = (err?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode!(false);
      input.pause();
      io.output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.setRawMode!(true);
    input.resume();
    input.on('data', onData);
  });
}
