"""The only package that imports boto3: session, clients, error codes, emulator detection."""
