/** Step output for the demo: numbered steps, colors on a terminal (NO_COLOR respected). */
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (text: string) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);

export const color = {
  bold: paint('1'),
  dim: paint('2'),
  green: paint('32'),
  red: paint('31'),
  yellow: paint('33'),
  cyan: paint('36'),
};

export class Steps {
  readonly #total: number;
  #n = 0;
  readonly #write: (line: string) => void;

  constructor(total: number, write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {
    this.#total = total;
    this.#write = write;
  }

  step(title: string): void {
    this.#n++;
    this.#write(`\n${color.bold(color.cyan(`[${this.#n}/${this.#total}]`))} ${color.bold(title)}`);
  }

  ok(text: string): void {
    this.#write(`  ${color.green('✔')} ${text}`);
  }

  refused(text: string): void {
    this.#write(`  ${color.red('✘')} ${text}`);
  }

  note(text: string): void {
    this.#write(`  ${color.dim(text)}`);
  }

  get count(): number {
    return this.#n;
  }
}
