//! Knowledge articles of a workspace, indexed for retrieval, so that the AI
//! answers from the company's own text and cites where it came from.
