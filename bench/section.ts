/** One part of `npm run bench`: a title, and a run that returns Markdown for bench/results.md. */
export interface Section {
  name: string;
  title: string;
  run(): Promise<string>;
}
