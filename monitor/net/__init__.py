"""Network safety shared by every outgoing request: the address guard and hard deadlines."""
