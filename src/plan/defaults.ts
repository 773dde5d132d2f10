/** AWS's documented ceiling is generous; 200 per call keeps requests small and retries cheap. */
export const TARGETS_PER_CALL = 200;
