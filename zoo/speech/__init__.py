"""Speech recognition: Whisper (speech/base, speech/tiny.en) on core.

Importing this package registers the speech entries of the catalog and the "whisper" architecture.
"""
from zoo.speech import catalog
from zoo.speech.recognizer import SpeechRecognizer
from zoo.speech.transcribe import Segment, Transcription

__all__ = ["Segment", "SpeechRecognizer", "Transcription", "catalog"]
