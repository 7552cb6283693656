/** Counter writes that may skip the WAL flush live with the store; governance names them here. */
export { writeCounters } from '../store/counters.ts';
