/**
 * Parses a labels file: one class per line, in output order. Lines of the form
 * "<WordNet synset> <label>" (ImageNet's labels.txt) give the label with underscores as spaces.
 */
export function parseLabels(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = /^n\d{8}\s+(.+)$/.exec(line.trim());
      return m ? m[1].replace(/_/g, ' ') : line.trim();
    });
}
