-- The weekly copilot question: one answer per agent and ISO week.
CREATE TABLE copilot_pulse (
    agent_id TEXT NOT NULL,
    week     TEXT NOT NULL,
    score    INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    at       TEXT NOT NULL,
    PRIMARY KEY (agent_id, week)
);
