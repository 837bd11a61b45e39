"""render/layers"""
