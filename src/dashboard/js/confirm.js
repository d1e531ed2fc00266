// Confirmation before actions that cannot be taken back.
export function confirmed(what) {
  return window.confirm(what);
}
