"""Wire formats of the control, event and stats channels. Pure: no zmq, no sockets."""
