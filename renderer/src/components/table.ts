export interface Column<R> {
  key: string;
  label: string;
  value: (row: R) => string | number | null;
  format?: (row: R) => string;
  align?: 'left' | 'right';
  width?: string;
  sortable?: boolean;
}
