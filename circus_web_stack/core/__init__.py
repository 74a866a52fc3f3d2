"""Pure logic: states, events, effects and decisions. Stdlib only; never touches a process or socket."""
