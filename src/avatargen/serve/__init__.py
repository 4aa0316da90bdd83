"""avatargen as an HTTP service: avatars with probabilities, style queries and an explore page
(FastAPI on uvicorn; ``avatargen serve MODEL``)."""
