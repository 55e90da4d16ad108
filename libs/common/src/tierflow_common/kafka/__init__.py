"""Kafka machinery: the one consumer loop, the producer, topic administration."""
